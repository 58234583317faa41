#include "policy/rules.h"

#include "policy/executor_config_policy.h"
#include "policy/image_policy.h"
#include "policy/job_policy.h"
#include "policy/retry_budget_policy.h"
#include "policy/taskspawner_policy.h"

namespace backstop::policy {
namespace {

constexpr Operation kCreate = Operation::kCreate;
constexpr Operation kUpdate = Operation::kUpdate;

std::vector<Rule> Rules() {
  return {
      MakeRule<TaskSpawnerOptions>(
          "taskSpawner",
          "kelos TaskSpawner: failurePolicy fields, poll intervals and TTL; warns about items "
          "recreated forever",
          Endpoint::kValidate,
          {{"kelos.dev",
            {"v1alpha1", "v1alpha2"},
            "taskspawners",
            "TaskSpawner",
            {kCreate, kUpdate},
            "agents.validate.backstop.dev"}},
          &ParseTaskSpawnerOptions, &ValidateTaskSpawner),
      MakeRule<ExecutorConfigOptions>(
          "executorConfig",
          "agent executor Config: zombie sweeper interval and job timeout floors and ceilings",
          Endpoint::kValidate,
          {{"agent.benjamin-borbe.de",
            {"v1"},
            "configs",
            "Config",
            {kCreate, kUpdate},
            "agents.validate.backstop.dev"}},
          &ParseExecutorConfigOptions, &ValidateExecutorConfig),
      MakeRule<ImageOptions>(
          "images",
          "Pods, Jobs and CronJobs: images that can never start (never-pull images the nodes "
          "lack, invalid references, images missing from their registry)",
          Endpoint::kValidate,
          {{"", {"v1"}, "pods", "Pod", {kCreate, kUpdate}, "pods.validate.backstop.dev"},
           {"batch", {"v1"}, "jobs", "Job", {kCreate, kUpdate}, "jobs.validate.backstop.dev"},
           {"batch",
            {"v1"},
            "cronjobs",
            "CronJob",
            {kCreate, kUpdate},
            "jobs.validate.backstop.dev"}},
          &ParseImageOptions, &ValidatePodImages),
      MakeRule<JobOptions>(
          "jobs",
          "Jobs and CronJobs in agent namespaces: activeDeadlineSeconds stamped when absent, "
          "imagePullPolicy made explicit",
          Endpoint::kMutate,
          {{"batch", {"v1"}, "jobs", "Job", {kCreate}, "jobs.mutate.backstop.dev"},
           {"batch",
            {"v1"},
            "cronjobs",
            "CronJob",
            {kCreate, kUpdate},
            "jobs.mutate.backstop.dev"}},
          &ParseJobOptions, &MutateJob),
      MakeRule<RetryBudgetOptions>(
          "retryBudget",
          "attempts of a work item (kelos Task, executor Job, optio Pod) that failed as often as "
          "its limit in a row are refused; TaskSpawners are warned about their stopped items",
          Endpoint::kValidate,
          {{"kelos.dev",
            {"v1alpha1", "v1alpha2"},
            "tasks",
            "Task",
            {kCreate},
            "tasks.validate.backstop.dev"},
           {"kelos.dev",
            {"v1alpha1", "v1alpha2"},
            "taskspawners",
            "TaskSpawner",
            {kCreate, kUpdate},
            "agents.validate.backstop.dev"},
           {"batch", {"v1"}, "jobs", "Job", {kCreate}, "jobs.validate.backstop.dev"},
           {"", {"v1"}, "pods", "Pod", {kCreate}, "pods.validate.backstop.dev"}},
          &ParseRetryBudgetOptions, &ValidateRetryBudget),
  };
}

}  // namespace

const RuleTable& BuiltinRules() {
  static const RuleTable table(Rules());
  return table;
}

}  // namespace backstop::policy
