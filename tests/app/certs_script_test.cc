// Runs certs/gen-certs.sh (the quickstart's certificate generator) into temporary
// directories and checks its output with the openssl command line.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/base64.h"
#include "tests/support/fixtures.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace backstop {
namespace {

namespace fs = std::filesystem;
using testing::OnPath;
using testing::ProcessResult;
using testing::ReadFileToString;
using testing::RunShell;
using testing::ShellQuote;
using testing::SourceDir;
using testing::TempDir;

std::string Script() { return (SourceDir() / "certs" / "gen-certs.sh").string(); }

class CertsScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!OnPath("openssl")) GTEST_SKIP() << "openssl not on PATH";
    if (!OnPath("bash")) GTEST_SKIP() << "bash not on PATH";
    ASSERT_TRUE(fs::exists(Script())) << Script();
    out_ = tmp_.path() / "out";
  }

  ProcessResult Gen(const std::string& args) {
    return RunShell("bash " + ShellQuote(Script()) + " --out " + ShellQuote(out_.string()) + " " +
                    args);
  }

  std::string OutFile(const std::string& name) const { return (out_ / name).string(); }

  ProcessResult Verify(const std::string& hostname) {
    return RunShell("openssl verify -CAfile " + ShellQuote(OutFile("ca.crt")) +
                    " -purpose sslserver -verify_hostname " + ShellQuote(hostname) + " " +
                    ShellQuote(OutFile("tls.crt")));
  }

  std::string SubjectAltNames() {
    ProcessResult r =
        RunShell("openssl x509 -noout -ext subjectAltName -in " + ShellQuote(OutFile("tls.crt")));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  TempDir tmp_;
  fs::path out_;
};

TEST_F(CertsScriptTest, DefaultsNameTheServiceAndVerifyAgainstTheCa) {
  ProcessResult r = Gen("");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << "stdout is reserved for the caBundle: " << r.out;
  for (const char* name : {"ca.crt", "tls.crt", "tls.key"}) {
    EXPECT_TRUE(fs::is_regular_file(out_ / name)) << name;
  }
  // The CA's private key must not be left behind, nor any scratch directory.
  size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(out_)) {
    ++entries;
    EXPECT_NE(entry.path().filename(), "ca.key");
  }
  EXPECT_EQ(entries, 3u);

  for (const char* host :
       {"backstop.backstop-system.svc", "backstop.backstop-system.svc.cluster.local"}) {
    ProcessResult v = Verify(host);
    EXPECT_EQ(v.exit_code, 0) << host << ": " << v.out << v.err;
    EXPECT_NE(v.out.find(": OK"), std::string::npos) << v.out;
  }
  // A name the certificate does not carry must fail verification (the check is real).
  EXPECT_NE(Verify("backstop.default.svc").exit_code, 0);

  const std::string sans = SubjectAltNames();
  EXPECT_NE(sans.find("DNS:backstop.backstop-system.svc,"), std::string::npos) << sans;
  EXPECT_NE(sans.find("DNS:backstop.backstop-system.svc.cluster.local"), std::string::npos) << sans;
}

TEST_F(CertsScriptTest, KeysAreEcdsaP256AndTheKeyMatchesTheCertificate) {
  ASSERT_EQ(Gen("").exit_code, 0);
  for (const char* cert : {"ca.crt", "tls.crt"}) {
    ProcessResult text = RunShell("openssl x509 -noout -text -in " + ShellQuote(OutFile(cert)));
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("id-ecPublicKey"), std::string::npos) << cert;
    EXPECT_NE(text.out.find("prime256v1"), std::string::npos) << cert;
  }
  ProcessResult ca =
      RunShell("openssl x509 -noout -ext basicConstraints -in " + ShellQuote(OutFile("ca.crt")));
  EXPECT_NE(ca.out.find("CA:TRUE"), std::string::npos) << ca.out;
  ProcessResult leaf = RunShell("openssl x509 -noout -ext basicConstraints,extendedKeyUsage -in " +
                                ShellQuote(OutFile("tls.crt")));
  EXPECT_NE(leaf.out.find("CA:FALSE"), std::string::npos) << leaf.out;
  EXPECT_NE(leaf.out.find("TLS Web Server Authentication"), std::string::npos) << leaf.out;

  ProcessResult from_key = RunShell("openssl pkey -pubout -in " + ShellQuote(OutFile("tls.key")));
  ProcessResult from_cert =
      RunShell("openssl x509 -noout -pubkey -in " + ShellQuote(OutFile("tls.crt")));
  ASSERT_EQ(from_key.exit_code, 0) << from_key.err;
  ASSERT_EQ(from_cert.exit_code, 0) << from_cert.err;
  EXPECT_FALSE(from_key.out.empty());
  EXPECT_EQ(from_key.out, from_cert.out);

  struct stat st {};
  ASSERT_EQ(stat(OutFile("tls.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777u, 0600u) << "private key must not be group or world readable";
}

TEST_F(CertsScriptTest, ServiceNamespaceAndExtraNamesBecomeSubjectAltNames) {
  ProcessResult r = Gen("--service hook --namespace team-a --dns hook.example.com --ip 10.96.0.10");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string sans = SubjectAltNames();
  EXPECT_NE(sans.find("DNS:hook.team-a.svc,"), std::string::npos) << sans;
  EXPECT_NE(sans.find("DNS:hook.team-a.svc.cluster.local"), std::string::npos) << sans;
  EXPECT_NE(sans.find("DNS:hook.example.com"), std::string::npos) << sans;
  EXPECT_NE(sans.find("IP Address:10.96.0.10"), std::string::npos) << sans;
  EXPECT_EQ(sans.find("backstop-system"), std::string::npos) << sans;
  EXPECT_EQ(Verify("hook.team-a.svc").exit_code, 0);
  EXPECT_EQ(Verify("hook.example.com").exit_code, 0);
}

TEST_F(CertsScriptTest, SecondRunWithoutForceFailsAndLeavesFilesUntouched) {
  ASSERT_EQ(Gen("").exit_code, 0);
  const std::string ca = ReadFileToString((out_ / "ca.crt").string());
  const std::string crt = ReadFileToString((out_ / "tls.crt").string());
  const std::string key = ReadFileToString((out_ / "tls.key").string());
  ASSERT_FALSE(key.empty());

  ProcessResult again = Gen("");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  EXPECT_EQ(ReadFileToString((out_ / "ca.crt").string()), ca);
  EXPECT_EQ(ReadFileToString((out_ / "tls.crt").string()), crt);
  EXPECT_EQ(ReadFileToString((out_ / "tls.key").string()), key);
  size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(out_)) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 3u) << "a refused run must not leave scratch files";
}

TEST_F(CertsScriptTest, OneExistingFileIsEnoughToRefuse) {
  fs::create_directories(out_);
  tmp_.Write("out/ca.crt", "keep me\n");
  EXPECT_NE(Gen("").exit_code, 0);
  EXPECT_EQ(ReadFileToString((out_ / "ca.crt").string()), "keep me\n");
  EXPECT_FALSE(fs::exists(out_ / "tls.key"));
}

TEST_F(CertsScriptTest, ForceReplacesEveryFileWithAFreshPair) {
  ASSERT_EQ(Gen("").exit_code, 0);
  const std::string ca = ReadFileToString((out_ / "ca.crt").string());
  const std::string key = ReadFileToString((out_ / "tls.key").string());

  ProcessResult forced = Gen("--force");
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(ReadFileToString((out_ / "ca.crt").string()), ca);
  EXPECT_NE(ReadFileToString((out_ / "tls.key").string()), key);
  EXPECT_EQ(Verify("backstop.backstop-system.svc").exit_code, 0);
}

TEST_F(CertsScriptTest, PrintsTheCaBundleAsOneBase64Line) {
  ProcessResult r = Gen("--print-ca-bundle");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "exactly one line";
  const std::string ca = ReadFileToString((out_ / "ca.crt").string());
  EXPECT_NE(ca.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  EXPECT_EQ(testing::DecodeBase64(r.out), ca);

  // The bundle of an existing directory, without generating anything.
  ProcessResult only = Gen("--ca-bundle-only");
  ASSERT_EQ(only.exit_code, 0) << only.err;
  EXPECT_EQ(only.out, r.out);
  EXPECT_EQ(ReadFileToString((out_ / "ca.crt").string()), ca);
}

TEST_F(CertsScriptTest, RejectsBadArgumentsWithoutWritingAnything) {
  for (const char* args : {"--bogus", "--service Bad_Name", "--namespace ''", "--days 0",
                           "--ip not-an-ip", "--dns 'two words'", "--service"}) {
    SCOPED_TRACE(args);
    ProcessResult r = Gen(args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_FALSE(r.err.empty());
    EXPECT_FALSE(fs::exists(out_ / "tls.key"));
  }
  // The bundle of a directory that holds none.
  EXPECT_NE(Gen("--ca-bundle-only").exit_code, 0);
}

}  // namespace
}  // namespace backstop
