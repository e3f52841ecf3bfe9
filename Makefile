# The README's two commands are `make run` and `make test`; everything else
# is a convenience around the scripts in scripts/.
MODEL ?= models/resnet50.onnx
DATA_DIR ?= data
ADDR ?= :8080

.PHONY: run model test bench build docker

run: $(MODEL)
	go run ./cmd/server -addr $(ADDR) -model $(MODEL) -data-dir $(DATA_DIR)

model: $(MODEL)

$(MODEL):
	scripts/get-model.sh $(MODEL)

test:
	scripts/test.sh

bench:
	scripts/bench.sh

build:
	CGO_ENABLED=0 go build -trimpath -o bin/ ./cmd/server ./cmd/onnxrun

docker:
	docker build -t tlserve .
