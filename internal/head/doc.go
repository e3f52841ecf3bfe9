// Package head trains, stores and applies classifier heads: small dense
// softmax classifiers on the embeddings of a frozen backbone, optionally with
// one hidden ReLU layer, as Teachable Machine trains them.
//
// Train fits a head with gorgonia (reverse-mode autodiff and its Adam solver)
// on mini-batches of standardized embeddings with a sparse categorical
// cross-entropy loss, keeps a stratified validation split aside, stops early
// when the validation loss stops improving and restores the best epoch.
// Predict is plain Go on the stored weights: it does not allocate and is safe
// for concurrent use, so serving never touches gorgonia.
package head
