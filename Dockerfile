# syntax=docker/dockerfile:1
#
# Multi-stage build of a static, non-root tlserve image.
#
#   docker build -t tlserve .                          # mount the model at run time
#   docker build --build-arg FETCH_MODEL=1 -t tlserve . # bake ResNet50 in
#
# At run time the server reads TLSERVE_MODEL (default /models/resnet50.onnx,
# with resnet50.json and imagenet_classes.txt beside it) and writes only under
# TLSERVE_DATA_DIR (/data, a volume).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/tlserve ./cmd/server && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/onnxrun ./cmd/onnxrun

ARG FETCH_MODEL=0
ARG MODEL_URL=https://github.com/onnx/models/raw/main/validated/vision/classification/resnet/model/resnet50-v1-7.onnx
RUN mkdir -p /out/models /out/data && \
    cp models/imagenet_classes.txt models/resnet50.json /out/models/ && \
    if [ "$FETCH_MODEL" = "1" ]; then \
      curl -fL --retry 3 -o /out/models/resnet50.onnx "$MODEL_URL" && \
      /out/onnxrun -model /out/models/resnet50.onnx -info; \
    fi

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tlserve /usr/local/bin/tlserve
COPY --from=build --chown=65532:65532 /out/models /models
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV TLSERVE_ADDR=:8080 \
    TLSERVE_MODEL=/models/resnet50.onnx \
    TLSERVE_DATA_DIR=/data
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/tlserve"]
