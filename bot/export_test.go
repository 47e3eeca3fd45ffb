package bot

// SameModel reports whether two bots decide with the very same trained model.
func SameModel(a, b *Bot) bool { return a.model == b.model }
