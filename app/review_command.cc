#include <iostream>
#include <memory>

#include "app/commands.h"
#include "app/review.h"

namespace backstop::app {

void AddReviewCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ReviewFlags>();
  auto* cmd = app.add_subcommand(
      "review",
      "Show the admission answers the cluster would give for manifests, offline (same policy "
      "code as serve)");
  cmd->add_option("-f,--filename", flags->files,
                  "Manifest file, directory (*.yaml, *.yml, *.json) or - for standard input; "
                  "repeatable");
  cmd->add_option("--config", flags->config, "Policy configuration file (YAML or JSON)")
      ->envname("BACKSTOP_CONFIG");
  cmd->add_option("--cluster-state", flags->cluster_state,
                  "Cluster knowledge from `kubectl get nodes,pods -A -o json` (default: none)");
  cmd->add_option("--operation", flags->operation, "Admission operation: CREATE or UPDATE")
      ->capture_default_str();
  cmd->add_option("-o,--output", flags->output, "text or json (one JSON object per line)")
      ->capture_default_str();
  cmd->add_flag("--warnings-as-errors", flags->warnings_as_errors,
                "Exit 1 when any object gets a warning");
  cmd->callback([flags, exit_code] { *exit_code = RunReview(*flags, std::cout, std::cerr); });
}

}  // namespace backstop::app
