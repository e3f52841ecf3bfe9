package head

// EpochMetrics is the loss and accuracy after one epoch. The validation
// fields are zero when there is no validation split.
type EpochMetrics struct {
	Epoch       int     `json:"epoch"`
	Loss        float64 `json:"loss"`
	Accuracy    float64 `json:"accuracy"`
	ValLoss     float64 `json:"val_loss"`
	ValAccuracy float64 `json:"val_accuracy"`
}

// ClassMetrics is the precision, recall and F1 score of one class.
type ClassMetrics struct {
	Label     string  `json:"label"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Metrics evaluates the restored best head. On says which split it was
// computed on: "validation", or "train" when there was no validation split.
type Metrics struct {
	On          string         `json:"on"`
	ValAccuracy float64        `json:"val_accuracy"`
	ValLoss     float64        `json:"val_loss"`
	Accuracy    float64        `json:"accuracy"`
	PerClass    []ClassMetrics `json:"per_class"`
	// Confusion[i][j] counts examples of true class i predicted as j.
	Confusion [][]int `json:"confusion_matrix"`
	TrainSize int     `json:"train_size"`
	ValSize   int     `json:"val_size"`
	BestEpoch int     `json:"best_epoch"`
}

// Result is what training produced besides the head.
type Result struct {
	History []EpochMetrics `json:"history"`
	Metrics Metrics        `json:"metrics"`
}

// classMetrics derives per-class metrics and accuracy from a confusion
// matrix. A class never predicted has precision 0, a class with no examples
// recall 0, and F1 is 0 when precision and recall are both 0.
func classMetrics(labels []string, conf [][]int) ([]ClassMetrics, float64) {
	k := len(labels)
	out := make([]ClassMetrics, k)
	total, correct := 0, 0
	for i := range k {
		tp, support, predicted := conf[i][i], 0, 0
		for j := range k {
			support += conf[i][j]
			predicted += conf[j][i]
		}
		total += support
		correct += tp
		c := ClassMetrics{Label: labels[i], Support: support}
		if predicted > 0 {
			c.Precision = float64(tp) / float64(predicted)
		}
		if support > 0 {
			c.Recall = float64(tp) / float64(support)
		}
		if c.Precision+c.Recall > 0 {
			c.F1 = 2 * c.Precision * c.Recall / (c.Precision + c.Recall)
		}
		out[i] = c
	}
	acc := 0.0
	if total > 0 {
		acc = float64(correct) / float64(total)
	}
	return out, acc
}
