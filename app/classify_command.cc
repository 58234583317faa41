#include <iostream>

#include "app/commands.h"

namespace backstop::app {

void AddClassifyCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("classify", "(not available yet)");
  cmd->callback([exit_code] {
    std::cerr << "backstop classify: not available in this build\n";
    *exit_code = 2;
  });
}

}  // namespace backstop::app
