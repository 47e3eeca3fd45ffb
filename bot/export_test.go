package bot

// SameModel reports whether two bots decide with the very same trained model.
func SameModel(a, b *Bot) bool { return a.model == b.model }

// Trainings is how many models this process has trained.
func Trainings() int64 { return trainings.Load() }
