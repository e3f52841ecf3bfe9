// Package refdata locates the reference material tests run against: the
// team's shared directory (../shared beside the module root, with the
// SqueezeNet model and the sample images), the ONNX node test suite of the
// Debian package libonnx-testdata, and the Fashion-MNIST files of the
// Debian package dataset-fashion-mnist.
//
// Functions taking a testing.TB skip the test, with a message saying what
// is missing and how to get it, when the material is absent; Shared is the
// variant for fuzz seeding, where a missing seed must not skip the target.
// Only tests import this package.
package refdata
