package onnxmodel

// beforeIdentities returns the tensor whose values t repeats: it follows t
// back through Identity nodes and Dropout outputs (the identity at
// inference; Dropout in training mode does not load) as long as their
// input is computed by a node. The embedding search uses it so that, for
// a classifier reading Dropout(Flatten(pool)), the reported embedding is
// the pooled tensor rather than its copy under the Dropout's name.
func beforeIdentities(producer map[string]*node, t string) string {
	for {
		n := producer[t]
		if n == nil || (n.opType != "Identity" && n.opType != "Dropout") ||
			len(n.inputs) == 0 || len(n.outputs) == 0 || n.outputs[0] != t || producer[n.inputs[0]] == nil {
			return t
		}
		t = n.inputs[0]
	}
}
