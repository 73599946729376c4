# xsock_set_warnings(target): the project's warning level, errors when asked.
#
# XSOCK_STRICT_WARNINGS adds what MSVC's /W4 reports and GCC/clang's -Wall -Wextra do
# not: narrowing (C4244, C4267 ~ -Wconversion), signed/unsigned mixing (C4245, C4389 ~
# -Wsign-conversion) and shadowing (C4456-C4459 ~ -Wshadow). With
# XSOCK_WARNINGS_AS_ERRORS they are errors like the rest. Intended narrowings take an
# explicit cast. Every preset turns it on (CI builds GCC, clang/libc++ and MinGW with
# it, as errors).
option(XSOCK_STRICT_WARNINGS "Also warn on narrowing, sign conversion and shadowing (MSVC /W4's set)" OFF)

function(xsock_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /permissive- /utf-8)
    if(XSOCK_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(XSOCK_STRICT_WARNINGS)
      target_compile_options(${target} PRIVATE -Wconversion -Wsign-conversion -Wshadow)
    endif()
    if(XSOCK_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
