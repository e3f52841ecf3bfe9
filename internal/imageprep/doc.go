// Package imageprep turns untrusted image bytes into model input tensors.
//
// Decode reads JPEG, PNG, GIF (first frame), BMP and WebP from memory. It
// reads each image's header with image.DecodeConfig before decoding so that
// a small file claiming an enormous image (a decompression bomb) is refused
// without allocating its pixels, and it applies the EXIF orientation of
// JPEG files so that photographs from phones come out upright.
//
// Spec describes how a model expects its input: the resize and centre crop,
// the channel order, the scale, mean and standard deviation per channel and
// the tensor layout. Spec.Preprocess and Preprocessor.Preprocess write one
// image into a float32 tensor. Resizing uses a separable triangle filter
// whose support grows with the downscale factor, the antialiased bilinear
// resampling of PIL that torchvision's Resize applies by default, and only
// the pixels inside the centre crop are ever computed.
package imageprep
