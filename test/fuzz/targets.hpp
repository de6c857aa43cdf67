#pragma once
// Fuzz targets: each takes arbitrary bytes, feeds them to one of the operator's parsers the way the
// operator does, and checks properties that must hold for every input (a value that parsed re-encodes into
// one that parses again; split input parses like whole input). A violated property calls violated(),
// which aborts: libFuzzer keeps the input, the corpus replay test fails.
// Built twice: with clang and libFuzzer by `make fuzz` (test/fuzz/run.sh), and with the normal GCC test
// build for `fuzz_corpus_test`, which replays every corpus under test/fuzz/corpus/<target>/.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace raydog::fuzz {

using Target = int (*)(const std::uint8_t* data, std::size_t size);

int kubeconfig(const std::uint8_t* data, std::size_t size);      // kubeconfig YAML, exec-plugin output
int raydogcluster(const std::uint8_t* data, std::size_t size);   // YAML -> decode -> defaults -> validation
int yaml_json(const std::uint8_t* data, std::size_t size);       // YAML -> JSON -> YAML
int yellowdog_model(const std::uint8_t* data, std::size_t size); // YellowDog bodies and error bodies
int sse(const std::uint8_t* data, std::size_t size);             // the /updates event-stream parser
int dim_nodes(const std::uint8_t* data, std::size_t size);       // the DALiuGE DIM's node and session lists
int durations(const std::uint8_t* data, std::size_t size);       // Go and ISO-8601 durations, timestamps
int http_response(const std::uint8_t* data, std::size_t size);   // HTTP/1.1 responses and their error bodies
int egress(const std::uint8_t* data, std::size_t size);          // proxy variables, allowed URLs, base URLs

struct NamedTarget {
  const char* name;  // the corpus folder and the binary's suffix: fuzz_<name>
  Target run;
};
const std::vector<NamedTarget>& all_targets();

// The fuzzer's bytes as text.
inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A property every input must keep was broken: prints `what` and aborts.
[[noreturn]] void violated(std::string_view what);

}  // namespace raydog::fuzz
