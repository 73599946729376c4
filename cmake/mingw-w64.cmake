# Toolchain file: cross-compile xsock for 64-bit Windows with MinGW-w64 on Linux and
# run the resulting .exe files (ctest, gtest_discover_tests) through Wine.
# Debian: apt-get install g++-mingw-w64-x86-64-posix wine wine64
#
# Used by the `mingw` preset. Knobs (cache or command line):
#   MINGW_TRIPLE          target triple (default x86_64-w64-mingw32)
#   MINGW_STATIC_RUNTIME  link libgcc/libstdc++/winpthread statically (default ON) so
#                         the .exe files need no MinGW DLLs under Wine or on Windows
#   MINGW_EMULATOR        runs target programs (default: scripts/wine-run.sh when wine
#                         is installed)
#   XSOCK_DEPS_CACHE      (environment) where scripts/mingw-deps.sh put ICU, OpenSSL,
#                         GoogleTest and CLI11 for MinGW (default ~/.cache/xsock); its
#                         icu-mingw, openssl-mingw, gtest-mingw and cli11-mingw folders
#                         are searched, as is anything in CMAKE_FIND_ROOT_PATH.
#   OPENSSL_USE_STATIC_LIBS  default ON: build-openssl-mingw.sh makes static libraries
#                         only, and FindOpenSSL then adds what they need (ws2_32, crypt32).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

if(NOT MINGW_TRIPLE)
  set(MINGW_TRIPLE x86_64-w64-mingw32)
endif()
# try_compile() projects read this file again: forward the knobs.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MINGW_TRIPLE MINGW_STATIC_RUNTIME
     MINGW_EMULATOR XSOCK_DEPS_CACHE_DIR)

# The POSIX-threads flavour: std::thread and std::mutex with GCC 12.
find_program(CMAKE_C_COMPILER NAMES ${MINGW_TRIPLE}-gcc-posix ${MINGW_TRIPLE}-gcc REQUIRED)
find_program(CMAKE_CXX_COMPILER NAMES ${MINGW_TRIPLE}-g++-posix ${MINGW_TRIPLE}-g++ REQUIRED)
find_program(CMAKE_RC_COMPILER NAMES ${MINGW_TRIPLE}-windres windres)
find_program(CMAKE_AR NAMES ${MINGW_TRIPLE}-gcc-ar-posix ${MINGW_TRIPLE}-gcc-ar ${MINGW_TRIPLE}-ar)
find_program(CMAKE_RANLIB NAMES ${MINGW_TRIPLE}-gcc-ranlib-posix ${MINGW_TRIPLE}-gcc-ranlib
             ${MINGW_TRIPLE}-ranlib)

# Target libraries: the dependency cache, then the MinGW sysroot; nothing from the host.
if(NOT XSOCK_DEPS_CACHE_DIR)
  if(DEFINED ENV{XSOCK_DEPS_CACHE} AND NOT "$ENV{XSOCK_DEPS_CACHE}" STREQUAL "")
    set(XSOCK_DEPS_CACHE_DIR "$ENV{XSOCK_DEPS_CACHE}")
  else()
    set(XSOCK_DEPS_CACHE_DIR "$ENV{HOME}/.cache/xsock")
  endif()
endif()
list(APPEND CMAKE_FIND_ROOT_PATH ${XSOCK_DEPS_CACHE_DIR}/icu-mingw ${XSOCK_DEPS_CACHE_DIR}/openssl-mingw
     ${XSOCK_DEPS_CACHE_DIR}/gtest-mingw ${XSOCK_DEPS_CACHE_DIR}/cli11-mingw /usr/${MINGW_TRIPLE})
list(REMOVE_DUPLICATES CMAKE_FIND_ROOT_PATH)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

if(NOT DEFINED OPENSSL_USE_STATIC_LIBS)
  set(OPENSSL_USE_STATIC_LIBS ON)
endif()

if(NOT DEFINED MINGW_STATIC_RUNTIME)
  set(MINGW_STATIC_RUNTIME ON)
endif()
if(MINGW_STATIC_RUNTIME)
  # -static also makes the linker prefer lib*.a over lib*.dll.a.
  string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -static")
  string(APPEND CMAKE_SHARED_LINKER_FLAGS_INIT " -static-libgcc -static-libstdc++")
  string(APPEND CMAKE_MODULE_LINKER_FLAGS_INIT " -static-libgcc -static-libstdc++")
endif()

# Target programs run through Wine (ctest, gtest_discover_tests, try_run), by way of
# scripts/wine-run.sh: a persistent wineserver and Wine's services booted away from
# ctest's pipes (plain `wine` makes ctest wait ~2.5 s after every test, or hang).
if(NOT MINGW_EMULATOR)
  find_program(XSOCK_WINE_PROGRAM NAMES wine wine64 PATHS /usr/lib/wine)
  if(XSOCK_WINE_PROGRAM)
    set(MINGW_EMULATOR ${CMAKE_CURRENT_LIST_DIR}/../scripts/wine-run.sh)
    cmake_path(NORMAL_PATH MINGW_EMULATOR)
  endif()
endif()
if(MINGW_EMULATOR)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MINGW_EMULATOR})
endif()
