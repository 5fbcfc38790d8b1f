// Path confinement to rulake.bundle_root: relative and absolute paths inside the root are
// resolved; "..", absolute paths outside, symlinks that escape (or dangle), sibling
// directories sharing the root's prefix, and a disabled root are refused.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "bundle/errors.h"
#include "bundle/paths.h"
#include "test_bundle_util.h"

namespace rb = ruvector::bundle;
using bundle_test::TempDir;

namespace {

class BundlePaths : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = bundle_test::fs::canonical(tmp_.path()).string();
    root_ = base_ + "/root";
    outside_ = base_ + "/outside";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root_ + "/real").c_str(), 0755), 0);
  }

  // The PathError message for confine(root, path); fails the test when it is accepted.
  std::string refused(const std::string& root, const std::string& path) {
    try {
      std::string got = rb::confine(root, path);
      ADD_FAILURE() << "accepted \"" << path << "\" as " << got;
    } catch (const rb::PathError& e) {
      EXPECT_EQ(e.kind(), ruvector::ErrorKind::kInvalidParameter);
      return e.what();
    }
    return {};
  }

  TempDir tmp_;
  std::string base_, root_, outside_;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_F(BundlePaths, RelativePathsResolveUnderTheRoot) {
  EXPECT_EQ(rb::confine(root_, "b1"), root_ + "/b1");
  EXPECT_EQ(rb::confine(root_, "./b1/"), root_ + "/b1");
  EXPECT_EQ(rb::confine(root_, "a//b/c"), root_ + "/a/b/c");
  EXPECT_EQ(rb::confine(root_, "real/b"), root_ + "/real/b");
  EXPECT_EQ(rb::confine(root_ + "/", "b1"), root_ + "/b1");
  EXPECT_EQ(rb::confine(root_, "."), root_);
}

TEST_F(BundlePaths, AbsolutePathsMustLieInsideTheRoot) {
  EXPECT_EQ(rb::confine(root_, root_ + "/real/b"), root_ + "/real/b");
  EXPECT_TRUE(contains(refused(root_, "/etc"), "outside rulake.bundle_root"));
  EXPECT_TRUE(contains(refused(root_, outside_ + "/b"), "outside rulake.bundle_root"));
  EXPECT_TRUE(contains(refused(root_, "/"), "outside"));
  // A sibling whose name starts with the root's name is not inside it.
  ASSERT_EQ(::mkdir((root_ + "evil").c_str(), 0755), 0);
  EXPECT_TRUE(contains(refused(root_, root_ + "evil/b"), "outside"));
}

TEST_F(BundlePaths, DotDotIsRefusedEverywhere) {
  for (const std::string& path :
       {std::string("../outside"), std::string("a/../b"), std::string(".."), root_ + "/../root/b",
        std::string("real/..")}) {
    EXPECT_TRUE(contains(refused(root_, path), "contains \"..\"")) << path;
  }
}

TEST_F(BundlePaths, SymlinksThatEscapeAreRefused) {
  ASSERT_EQ(::symlink(outside_.c_str(), (root_ + "/out").c_str()), 0);
  ASSERT_EQ(::symlink("/", (root_ + "/slash").c_str()), 0);
  ASSERT_EQ(::symlink("../outside", (root_ + "/relative_out").c_str()), 0);
  for (const char* path : {"out", "out/b", "slash/etc", "relative_out/x/y"}) {
    std::string message = refused(root_, path);
    EXPECT_TRUE(contains(message, "outside rulake.bundle_root")) << path << ": " << message;
  }
  ASSERT_EQ(::symlink((base_ + "/nowhere/x").c_str(), (root_ + "/dangling").c_str()), 0);
  EXPECT_TRUE(contains(refused(root_, "dangling/b"), "does not resolve"));
  EXPECT_TRUE(contains(refused(root_, "dangling"), "does not resolve"));
}

TEST_F(BundlePaths, SymlinksThatStayInsideAreResolved) {
  ASSERT_EQ(::symlink((root_ + "/real").c_str(), (root_ + "/alias").c_str()), 0);
  ASSERT_EQ(::symlink("real", (root_ + "/relative_alias").c_str()), 0);
  EXPECT_EQ(rb::confine(root_, "alias/b"), root_ + "/real/b");
  EXPECT_EQ(rb::confine(root_, "relative_alias"), root_ + "/real");
}

TEST_F(BundlePaths, TheRootMayItselfBeASymlink) {
  std::string link = base_ + "/root_link";
  ASSERT_EQ(::symlink(root_.c_str(), link.c_str()), 0);
  EXPECT_EQ(rb::confine(link, "b"), root_ + "/b");
  EXPECT_EQ(rb::confine(link, link + "/b"), root_ + "/b");
  EXPECT_EQ(rb::confine(root_, link + "/b"), root_ + "/b");
}

TEST_F(BundlePaths, BadRootsAndBadPathsGiveClearErrors) {
  EXPECT_TRUE(contains(refused("", "b"), "disabled: rulake.bundle_root is not set"));
  EXPECT_TRUE(contains(refused("relative/root", "b"), "not an absolute path"));
  EXPECT_TRUE(contains(refused(base_ + "/missing", "b"), "not an existing directory"));
  bundle_test::write_file(base_ + "/file", "x");
  EXPECT_TRUE(contains(refused(base_ + "/file", "b"), "not an existing directory"));
  EXPECT_TRUE(contains(refused(root_, ""), "empty"));
  EXPECT_TRUE(contains(refused(root_, std::string("a\0b", 3)), "NUL"));
}
