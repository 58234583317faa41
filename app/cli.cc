#include "app/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>

namespace backstop::app {

int RunCli(int argc, char** argv) {
  CLI::App app{"backstop: Kubernetes admission webhook that stops runaway retry loops"};
  app.require_subcommand(1);
  auto* version = app.add_subcommand("version", "Print the version");
  version->callback([] { std::cout << "backstop " << BACKSTOP_VERSION << "\n"; });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}

}  // namespace backstop::app
