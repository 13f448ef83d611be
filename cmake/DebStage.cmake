# CPack runs this script (CPACK_PRE_BUILD_SCRIPTS, set in cmake/Packaging.cmake) on the tree
# it has staged from the install() rules, before it builds the archive: it makes that tree the
# one Debian policy wants, leaving `make install` / `cmake --install` as they are. Run by cpack,
# so it sees the CPACK_* variables of CPackConfig.cmake (CPACK_SOCKECHO_* are this project's).
#   - the man page gzipped (gzip -9n: no name, no time stamp, so reproducible);
#   - the zsh completion moved from share/zsh/site-functions to share/zsh/vendor-completions:
#     Debian's zsh searches /usr/local/share/zsh/site-functions (where `make install` puts it)
#     and /usr/share/zsh/vendor-completions, but not /usr/share/zsh/site-functions;
#   - the binaries stripped of .comment and .note as dh_strip does (CPACK_STRIP_FILES ran
#     plain `strip`, which keeps them);
#   - share/doc/sockecho/copyright, machine-readable (DEP-5), made from LICENSE;
#   - share/doc/sockecho/changelog.gz, packaging/changelog gzipped: a native package (its
#     version has no Debian revision), so changelog.gz and not changelog.Debian.gz. Its top
#     entry must be the version being packaged, or packaging stops here.
# Every directory made here is 0755 and every file 0644, whatever the umask of who runs cpack:
# the archive takes the modes from the staged tree.
if(NOT CPACK_GENERATOR STREQUAL "DEB")
  return()
endif()
set(root "${CPACK_TEMPORARY_DIRECTORY}${CPACK_PACKAGING_INSTALL_PREFIX}")
set(dir_mode OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(file_mode OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

function(run_or_fail)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "${command} failed: ${rc}")
  endif()
endfunction()

function(make_dir dir)
  file(MAKE_DIRECTORY "${dir}")
  file(CHMOD "${dir}" DIRECTORY_PERMISSIONS ${dir_mode})
endfunction()

file(GLOB man_pages "${root}/share/man/man[1-9]/*.[1-9]")
foreach(page IN LISTS man_pages)
  run_or_fail(gzip -9nf "${page}")
endforeach()

if(EXISTS "${root}/share/zsh/site-functions/_sockecho")
  make_dir("${root}/share/zsh/vendor-completions")
  file(RENAME "${root}/share/zsh/site-functions/_sockecho"
              "${root}/share/zsh/vendor-completions/_sockecho")
  file(GLOB left "${root}/share/zsh/site-functions/*")
  if(NOT left)
    file(REMOVE_RECURSE "${root}/share/zsh/site-functions")
  endif()
endif()

if(CPACK_STRIP_FILES AND CPACK_SOCKECHO_STRIP)
  file(GLOB binaries "${root}/bin/*")
  foreach(binary IN LISTS binaries)
    run_or_fail("${CPACK_SOCKECHO_STRIP}" --remove-section=.comment --remove-section=.note
                "${binary}")
  endforeach()
endif()

set(doc "${root}/share/doc/${CPACK_DEBIAN_PACKAGE_NAME}")
make_dir("${root}/share/doc")
make_dir("${doc}")

# LICENSE is "Copyright (c) <years and holders>", an empty line, then the licence's text.
# In the copyright file that text is the License field's continuation: each line indented by
# one space, an empty line written " .".
file(READ "${CPACK_SOCKECHO_LICENSE_FILE}" license)
if(NOT license MATCHES "^Copyright \\([cC]\\) ([^\n]+)\n\n(.+)$")
  message(FATAL_ERROR "${CPACK_SOCKECHO_LICENSE_FILE}: not \"Copyright (c) ...\", an empty "
                      "line and the licence's text")
endif()
set(holders "${CMAKE_MATCH_1}")
string(STRIP "${CMAKE_MATCH_2}" text)
string(REGEX REPLACE "\n[ \t]*\n" "\n.\n" text "${text}")
string(REPLACE "\n" "\n " text "${text}")
file(WRITE "${doc}/copyright"
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ${CPACK_PACKAGE_NAME}

Files: *
Copyright: ${holders}
License: ${CPACK_SOCKECHO_LICENSE_NAME}
 ${text}
")
file(CHMOD "${doc}/copyright" FILE_PERMISSIONS ${file_mode})

# The top entry's first line: "sockecho (0.1.0) unstable; urgency=medium".
file(READ "${CPACK_SOCKECHO_CHANGELOG_FILE}" changelog)
string(REGEX MATCH "^[^\n]*" top "${changelog}")
set(want "${CPACK_DEBIAN_PACKAGE_NAME} (${CPACK_PACKAGE_VERSION})")
string(FIND "${top}" "${want} " at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "${CPACK_SOCKECHO_CHANGELOG_FILE}: the top entry is \"${top}\", not "
                      "${want}: add an entry for this version at its top")
endif()
file(COPY "${CPACK_SOCKECHO_CHANGELOG_FILE}" DESTINATION "${doc}" FILE_PERMISSIONS ${file_mode})
run_or_fail(gzip -9nf "${doc}/changelog")
