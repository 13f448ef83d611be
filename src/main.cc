#include "app.h"

int main(int argc, char** argv) { return sockecho::app_main(argc, argv); }
