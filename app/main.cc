#include "app/cli.h"

int main(int argc, char** argv) { return backstop::app::RunCli(argc, argv); }
