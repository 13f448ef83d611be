#pragma once

namespace sockecho {

// The whole program: parse, dispatch, and the one place that turns an exception into
// "sockecho: <what>: <why>" on stderr and an exit status.
int app_main(int argc, char** argv);

}  // namespace sockecho
