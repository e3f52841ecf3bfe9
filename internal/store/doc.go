// Package store keeps everything tlserve writes under its data directory:
// fine-tuned heads with immutable numbered versions and an active pointer,
// the per-model training datasets, a global embedding cache, and job
// records.
//
// Layout of the data directory:
//
//	models/<name>/v<k>/head.bin       serialized *head.Head (immutable)
//	models/<name>/v<k>/meta.json      VersionInfo (immutable)
//	models/<name>/active              {"version": k}, replaced atomically
//	models/<name>/dataset.json        the model's training set: image
//	                                  SHA-256, label and file name per
//	                                  example, and the backbone identity
//	embeddings/<backbone-id>/seg-*.emb immutable segments of the embedding
//	                                  cache, one per PutEmbeddings call
//	jobs/<id>.json                    job records, replaced atomically
//
// Every file is written to a temporary name in its destination directory,
// fsynced, renamed into place, and the directory is fsynced, so a crash
// leaves either the old or the new content; a version directory is built
// under a temporary name and renamed whole. Temporary names start with
// ".tmp-" and are removed by Open. Embeddings are stored once, keyed by the
// SHA-256 of the image bytes and the backbone identity, and shared by all
// models; a dataset only references them, so a dataset file stays small
// (about 130 bytes per image) while an embedding costs 4 bytes per
// dimension once.
//
// A Store is safe for concurrent use by one process; two processes must not
// share a data directory.
package store
