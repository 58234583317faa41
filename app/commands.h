#pragma once

#include <CLI/CLI.hpp>

namespace backstop::app {

struct KnowledgeFlags;
// The flags that choose where cluster knowledge comes from (serve and watch share them).
void AddKnowledgeFlags(CLI::App* cmd, KnowledgeFlags* flags, bool with_cluster_state);

// Each subcommand registers its flags and callback on the root application. A callback
// stores its exit status in *exit_code.
void AddVersionCommand(CLI::App& app, int* exit_code);
void AddServeCommand(CLI::App& app, int* exit_code);
void AddReviewCommand(CLI::App& app, int* exit_code);
void AddClassifyCommand(CLI::App& app, int* exit_code);
void AddWatchCommand(CLI::App& app, int* exit_code);
void AddRulesCommand(CLI::App& app, int* exit_code);
void AddBudgetCommand(CLI::App& app, int* exit_code);

}  // namespace backstop::app
