//go:build !race

package onnxmodel

const raceEnabled = false
