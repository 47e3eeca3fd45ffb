package bot

import (
	"slices"
	"testing"

	"github.com/bayannur/hotline/bot/model"
	"github.com/bayannur/hotline/search/zh"
)

// A word typed in letters says something, as a character does: it counts among what the model
// knows of a message, so that "human please" is read, not declined as letters it never saw.
// Numbers and codes say nothing by themselves, and stay out of it.
func TestWordsInLettersAreText(t *testing.T) {
	an, err := zh.NewAnalyzer(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFeaturizer(an, nil)
	doc, nText := f.features(an.Normalize("please 13947801234 转人工"))
	text, rest := doc[:nText], doc[nText:]
	if !slices.Contains(text, model.Hash(featToken, "please")) {
		t.Errorf("the word please is not among the text's features")
	}
	if !slices.Contains(text, model.Hash(featChar, "转")) {
		t.Errorf("the characters are not among the text's features")
	}
	if phone := model.Hash(featToken, "d11"); slices.Contains(text, phone) || !slices.Contains(rest, phone) {
		t.Errorf("a phone number's shape is among the text's features, or missing")
	}
}
