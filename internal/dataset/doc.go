// Package dataset turns fine-tuning uploads into labeled examples.
//
// An upload is either a set of multipart file parts whose field names are
// their labels, or an archive (.zip, .tar or .tar.gz, detected by content,
// not by file name) holding one folder per class. FromArchive reads such an
// archive entirely in memory: it never writes to disk, yet it still refuses
// entries whose names would escape the archive root ("zip-slip"), and it
// bounds the number of files and the number of decompressed bytes so that a
// small archive cannot expand into gigabytes ("zip bomb").
//
// Validate and ValidateLabels check what a training set needs before any
// expensive work starts: sane label names and, for Validate, at least two
// classes.
package dataset
