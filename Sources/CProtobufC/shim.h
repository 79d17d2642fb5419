// System-library shim for protobuf-c (Debian: libprotobuf-c-dev).
#include <protobuf-c/protobuf-c.h>
