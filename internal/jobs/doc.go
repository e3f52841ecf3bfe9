// Package jobs runs fine-tune jobs one at a time from a bounded FIFO queue
// and keeps their records.
//
// A Manager owns one worker goroutine. Submit queues a Spec whose Run
// function does the work and reports progress through a Reporter; the job
// record (the JSON shape of the HTTP API) is persisted through an optional
// Store on every status change and every training epoch, so it survives a
// restart. Uploaded images are not persisted, so a job cannot resume after
// the process stops: New marks every record left queued or running by a
// previous process as failed with an "interrupted" reason, and Close does
// the same for the jobs it interrupts. Only the newest KeepFinished
// finished records are kept.
package jobs
