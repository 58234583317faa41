#pragma once

namespace backstop::app {

// Parses the command line and runs the chosen subcommand; returns the exit status.
int RunCli(int argc, char** argv);

}  // namespace backstop::app
