// Third-party stores on container nodes: the external example (Python
// lifecycle helpers) on containers over the host's root, and a store run
// from its own image, which the test builds from local files (busybox-static,
// the dynastore binary and its libraries, two shell helpers) and imports
// with `podman import`, since no registry is reachable.
#include <gtest/gtest.h>

#include "testing/run_fixture.h"

namespace faultline::test {
namespace {

// Lifecycle helpers inside the image (busybox sh): the cluster file from
// {nodes} ("n1=ADDR,n2=ADDR,..."), and health = the node answers as itself
// and sees every member up (nc: busybox-static's wget crashes on Debian 12).
constexpr char kInstall[] = R"(#!/bin/sh
dir=$1; members=""; sep=""
IFS=,
for pair in $2; do
  name=${pair%%=*}; addr=${pair#*=}
  members="$members$sep{\"id\":\"$name\",\"http\":\"$addr:8080\",\"rpc\":\"$addr:8081\"}"; sep=","
done
printf '{"n":3,"r":2,"w":2,"partitions":64,"nodes":[%s],"heartbeat_interval_ms":500,"failure_timeout_ms":2000,"request_timeout_ms":1000,"anti_entropy_interval_ms":2000,"handoff_interval_ms":1000}\n' "$members" > "$dir/cluster.json"
)";
constexpr char kHealth[] = R"(#!/bin/sh
status=$(printf 'GET /status HTTP/1.0\r\n\r\n' | nc -w 1 "$1" 8080) || exit 1
echo "$status" | grep -q "\"node\":\"$2\"" && ! echo "$status" | grep -q '"up":false'
)";

class ContainerImageRun : public FaultlineRun {
 protected:
  void SetUp() override {
    FaultlineRun::SetUp();
    if (IsSkipped()) return;
    ASSERT_EQ(::chdir(FAULTLINE_SOURCE_DIR), 0);
    ::setenv("DYNASTORE_BIN", DYNASTORE_BIN, 1);
  }
  void TearDown() override {
    if (!image_.empty()) Capture("podman rmi -f " + image_ + " 2>&1");
    FaultlineRun::TearDown();
  }

  // A rootfs holding busybox, dynastore with every library ldd names, and
  // the helpers; imported as image_.
  void BuildImage() {
    const fs::path root = dir_ / "rootfs";
    fs::create_directories(root / "bin");
    fs::create_directories(root / "usr/local/bin");
    fs::create_directories(root / "tmp");
    fs::copy_file("/bin/busybox", root / "bin/busybox");
    std::stringstream applets(Capture("/bin/busybox --list"));
    for (std::string a; applets >> a;) {
      if (a != "busybox") fs::create_symlink("busybox", root / "bin" / a);
    }
    fs::copy_file(DYNASTORE_BIN, root / "usr/local/bin/dynastore");
    std::stringstream libs(Capture(std::string("ldd ") + DYNASTORE_BIN));
    for (std::string word; libs >> word;) {
      if (word.rfind("/", 0) != 0 || !fs::exists(word)) continue;
      fs::create_directories(root / fs::path(word).relative_path().parent_path());
      fs::copy_file(word, root / fs::path(word).relative_path(), fs::copy_options::overwrite_existing);
    }
    for (const auto& [name, text] : {std::pair{"fl-install", kInstall}, std::pair{"fl-health", kHealth}}) {
      std::ofstream(root / "usr/local/bin" / name) << text;
      fs::permissions(root / "usr/local/bin" / name, fs::perms::owner_all | fs::perms::group_read |
                                                         fs::perms::group_exec | fs::perms::others_read |
                                                         fs::perms::others_exec);
    }
    image_ = "localhost/faultline-test-store:" + std::to_string(::getpid());
    const std::string tar = (dir_ / "rootfs.tar").string();
    ASSERT_EQ(std::system(("tar -C " + root.string() + " -cf " + tar + " .").c_str()), 0);
    const std::string out = Capture("podman import " + tar + " " + image_ + " 2>&1");
    ASSERT_NE(Capture("podman image exists " + image_ + " && echo yes"), "") << out;
  }

  std::string image_;
};

TEST_F(ContainerImageRun, ExternalExampleRunsOnContainerNodes) {
  const int code = RunFaultline({"run", "--config", "examples/external-dynastore/config.json", "--containers",
                                 "--time-limit", "5", "--store-dir", store_.string(), "--seed", "5"});
  EXPECT_EQ(code, 0) << Output();
  const fs::path run = LatestRun();
  EXPECT_EQ(json::parse(ReadFile(run / "results.json"))["valid"], true);
  EXPECT_NE(ReadFile(run / "faultline.log").find("Podman containers"), std::string::npos);
  EXPECT_TRUE(fs::exists(run / "nodes" / "n1" / "store.log"));
}

TEST_F(ContainerImageRun, AStoreFromItsOwnImageRunsEndToEnd) {
  BuildImage();
  json config = {
      {"db", "external"},
      {"workload", "set"},
      {"local", 3},
      {"time-limit", 5},
      {"rate", 30},
      {"quiesce", 2},
      {"external",
       {{"image", image_},
        {"install", {"/usr/local/bin/fl-install", "{dir}", "{nodes}"}},
        {"start",
         {"/usr/local/bin/dynastore", "--id", "{name}", "--cluster", "{dir}/cluster.json", "--data", "{dir}/data"}},
        {"health", {"/usr/local/bin/fl-health", "{address}", "{name}"}},
        {"wipe", {"rm", "-rf", "{dir}/data"}},
        {"logs", {"{dir}/store.log", "{dir}/cluster.json"}},
        {"client", {"python3", "examples/external-dynastore/client.py"}}}}};
  const fs::path path = dir_ / "config.json";
  std::ofstream(path) << config.dump(2);
  const int code = RunFaultline({"run", "--config", path.string(), "--store-dir", store_.string(), "--seed", "9"});
  EXPECT_EQ(code, 0) << Output();
  const fs::path run = LatestRun();
  EXPECT_EQ(json::parse(ReadFile(run / "results.json"))["valid"], true) << ReadFile(run / "results.json");
  const std::string log = ReadFile(run / "faultline.log");
  EXPECT_NE(log.find("image " + image_), std::string::npos) << log;
  // The store ran from the image: its cluster file came from the image's helper.
  EXPECT_NE(ReadFile(run / "nodes" / "n1" / "cluster.json").find("\"rpc\":"), std::string::npos);
  // test.json records the nodes as containers of that image.
  const json test = json::parse(ReadFile(run / "test.json"));
  EXPECT_EQ(test["containers"], true);
  EXPECT_EQ(test["image"], image_);
}

}  // namespace
}  // namespace faultline::test
