// junit.xml: one run's verdict for CI systems (Jenkins, GitLab, GitHub
// Actions test reporters). One <testsuite> named after the test, one
// <testcase> per checker; an invalid checker carries a <failure> whose
// message is its summary and whose body explains each anomaly; an unknown
// checker (or a run that did not finish / whose harness failed) an <error>.
// results.json stays the machine-readable source of truth.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faultline {

// `results` is results.json, `test` is test.json (null when absent).
std::string JunitXml(const nlohmann::json& results, const nlohmann::json& test, const std::string& run_dir);

// Reads RUN_DIR/results.json (+ test.json) and writes RUN_DIR/junit.xml
// atomically. Throws std::runtime_error naming the file that is missing or bad.
void WriteJunitFile(const std::filesystem::path& run_dir);

// Several runs in one document (`faultline suite --junit FILE`): one
// <testsuite> per run directory, in order, under <testsuites name="NAME">. A run
// directory without a readable results.json becomes one <error> test case.
std::string JunitXmlForRuns(const std::vector<std::filesystem::path>& run_dirs, const std::string& name);

}  // namespace faultline
