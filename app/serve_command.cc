#include <iostream>

#include "app/commands.h"

namespace backstop::app {

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("serve", "(not available yet)");
  cmd->callback([exit_code] {
    std::cerr << "backstop serve: not available in this build\n";
    *exit_code = 2;
  });
}

}  // namespace backstop::app
