# The header half of "pure code links pure" (the link half is raydog_require_pure_links in the top-level
# CMakeLists.txt): preprocesses every source of the pure libraries and fails when any header it reaches,
# however indirectly, is Boost.Asio, Boost.Beast or the HTTP transport.
#   cmake -DCOMPILER=g++ -DSOURCE_DIR=<repo> -DFILES="a.cpp|b.cpp" -P pure_headers.cmake
set(_forbidden "boost/asio|boost/beast|controller/http/(types|client|server)\\.hpp|controller/yellowdog/(api|client)\\.hpp")
string(REPLACE "|" ";" _files "${FILES}")
set(_failed "")
foreach(_file ${_files})
  # -M lists every header reached; -MG lets generated headers (not there yet) pass as plain names.
  execute_process(COMMAND ${COMPILER} -std=c++20 -M -MG -I${SOURCE_DIR} ${_file}
                  OUTPUT_VARIABLE _deps ERROR_VARIABLE _err RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(SEND_ERROR "${_file}: preprocessing failed:\n${_err}")
    list(APPEND _failed ${_file})
    continue()
  endif()
  string(REGEX MATCHALL "[^ \\\n]*(${_forbidden})[^ \\\n]*" _bad "${_deps}")
  if(_bad)
    list(REMOVE_DUPLICATES _bad)
    list(GET _bad 0 _first)
    message(SEND_ERROR "${_file} is in a pure library but reaches ${_first}")
    list(APPEND _failed ${_file})
  endif()
endforeach()
list(LENGTH _files _n)
if(_failed)
  message(FATAL_ERROR "impure headers reached from: ${_failed}")
endif()
message(STATUS "${_n} sources of pure libraries checked: no Asio, Beast or HTTP transport header")
