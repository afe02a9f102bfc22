#!/bin/sh
# Regenerates the Go code of the agent plugin protocol from
# plugins/proto/agent.proto. The generated files are committed, so a build
# needs none of this; run it after changing the .proto file.
#
# Needs protoc (apt-get install -y protobuf-compiler) and the Go plugins,
# installed into $(go env GOPATH)/bin on demand at the versions below.
set -eu

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

cd "$(dirname "$0")/.."
GOBIN="$(go env GOPATH)/bin"
PATH="$GOBIN:$PATH"

if ! command -v protoc >/dev/null 2>&1; then
	echo "genproto: protoc not found; install it (e.g. apt-get install -y protobuf-compiler)" >&2
	exit 1
fi
if ! protoc-gen-go --version 2>/dev/null | grep -q "$PROTOC_GEN_GO_VERSION"; then
	go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi
if ! protoc-gen-go-grpc --version 2>/dev/null | grep -q "${PROTOC_GEN_GO_GRPC_VERSION#v}"; then
	go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
fi

protoc \
	--proto_path=plugins/proto \
	--go_out=plugins/proto --go_opt=paths=source_relative \
	--go-grpc_out=plugins/proto --go-grpc_opt=paths=source_relative \
	plugins/proto/agent.proto

gofmt -l plugins/proto
echo "genproto: regenerated plugins/proto (protoc $(protoc --version | cut -d' ' -f2))"
