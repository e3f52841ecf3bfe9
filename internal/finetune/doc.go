// Package finetune is the body of a fine-tune job: it validates an upload
// up front, then, in the job, embeds the images with the backbone (reusing
// cached embeddings), merges them with the model's stored dataset, trains a
// head, and saves and activates the new version.
//
// Service is the jobs.Runner of the job queue: its Prepare method does the
// synchronous part inside jobs.Manager.Submit, so that the HTTP layer can
// answer 400 before anything is queued: the model name, the hyperparameters, every
// file (decoded once; all invalid files are reported together in an
// *InvalidFilesError) and the number of classes of the final training set,
// that is the upload merged with the stored dataset unless Replace is set.
// The merge is done again when the job starts, since a job queued earlier
// may have changed the stored dataset.
//
// Images are identified by the SHA-256 of their bytes. An image uploaded
// again replaces its earlier label. Stored examples whose embedding is not
// in the cache for the current backbone (after a backbone change) are
// dropped, because uploaded images are not kept, only their embeddings.
package finetune
