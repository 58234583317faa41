#include "app/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/commands.h"

namespace backstop::app {

void AddVersionCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("version", "Print the version");
  cmd->callback([exit_code] {
    std::cout << "backstop " << BACKSTOP_VERSION << "\n";
    *exit_code = 0;
  });
}

int RunCli(int argc, char** argv) {
  CLI::App app{"backstop: Kubernetes admission webhook that stops runaway retry loops"};
  app.require_subcommand(1);
  int exit_code = 0;
  AddVersionCommand(app, &exit_code);
  AddServeCommand(app, &exit_code);
  AddReviewCommand(app, &exit_code);
  AddClassifyCommand(app, &exit_code);
  AddWatchCommand(app, &exit_code);
  AddRulesCommand(app, &exit_code);
  AddBudgetCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --help-all exit 0; every usage error exits 2, as the README promises.
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace backstop::app
