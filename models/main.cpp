// The schoolsim executable: the kernel's command line with every registered mechanism.
#include "models/register_all.hpp"
#include "sim/cli/cli.hpp"

int main(int argc, char** argv) { return schoolsim::run_cli(argc, argv, schoolsim::models::registry()); }
