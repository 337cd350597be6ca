# The fuzz targets, one per decoder family: tests/fuzz/fuzz_<name>.c.
# Read by tests/fuzz/CMakeLists.txt (libFuzzer binaries, MF_FUZZ=ON) and by
# tests/CMakeLists.txt (the replay tests every build runs).
set(MF_FUZZ_TARGETS task_envelope result_envelope args roundtrip)
