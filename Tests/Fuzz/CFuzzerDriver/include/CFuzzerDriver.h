#ifndef CFUZZERDRIVER_H
#define CFUZZERDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for a program with its own `main` (LLVM 11 and
/// later); defined in libclang_rt.fuzzer, which `-sanitize=fuzzer` links.
/// Declared here so that Swift can call it; nothing in this target defines it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
