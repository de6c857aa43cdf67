// The main() of every doctest binary. CTest runs one test case per process with
// `--test-case=<name>`; when that filter matches nothing, doctest runs zero cases and exits 0, so a test
// whose name CTest cannot carry (a ';' splits it into two CMake list items, the name registered is cut
// short) would pass forever without running. A listener counts the cases that start; a run with a
// --test-case filter that started none fails and says why.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <iostream>

namespace {

std::atomic<int> started_cases{0};

struct CaseCounter : doctest::IReporter {
  explicit CaseCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++started_cases; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
DOCTEST_REGISTER_LISTENER("raydog-case-counter", 1, CaseCounter);

// True for the options that only list or describe (nothing runs, and that is fine).
bool query_only(const char* arg) {
  for (const char* q : {"-ltc", "--list-test-cases", "-lts", "--list-test-suites", "-lr", "--list-reporters",
                        "-h", "--help", "-v", "--version", "-c", "--count", "-?"})
    if (std::strncmp(arg, q, std::strlen(q)) == 0) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;
  bool filtered = false;
  for (int i = 1; i < argc; ++i) {
    if (query_only(argv[i])) return result;
    const char* a = argv[i];
    filtered = filtered || std::strncmp(a, "--test-case=", 12) == 0 || std::strncmp(a, "-tc=", 4) == 0;
  }
  if (filtered && started_cases == 0) {
    std::cerr << "no test case matched the --test-case filter: the name CTest registered differs from the "
                 "TEST_CASE's (a ';' in a test name is a CMake list separator: use ',' instead)\n";
    return result == 0 ? 1 : result;
  }
  return result;
}
