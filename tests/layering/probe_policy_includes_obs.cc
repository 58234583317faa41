// Compiled with backstop_policy's include directories only; it must NOT compile: policy
// cannot see the logging module (the Layering.BuildRefusesLoggingInPolicy test expects
// this compilation to fail).
#include "obs/log.h"
#include "policy/engine.h"
