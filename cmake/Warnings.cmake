# One INTERFACE target carries the warning set; SOCKECHO_WERROR turns it into errors.
add_library(sockecho_warnings INTERFACE)
target_compile_options(sockecho_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wnull-dereference -Wformat=2)
if(SOCKECHO_WERROR)
  target_compile_options(sockecho_warnings INTERFACE -Werror)
endif()
