# xsock::text: streaming encoders/decoders, line framing and terminal escaping on ICU.
# Included from core/CMakeLists.txt when XSOCK_BUILD_TEXT is on. Its own code needs no
# sockets, but its headers (text_error.hpp includes error.hpp) declare xsock::net's
# error_text() and socket_category(), so its users link xsock::net too.
include(GNUInstallDirs)
find_package(ICU REQUIRED COMPONENTS uc)

add_library(xsock_text
  ${CMAKE_CURRENT_LIST_DIR}/decoder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/encoder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/encodings.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fast_table.cpp
  ${CMAKE_CURRENT_LIST_DIR}/line_splitter.cpp
  ${CMAKE_CURRENT_LIST_DIR}/terminal_escape.cpp
  ${CMAKE_CURRENT_LIST_DIR}/text_error.cpp
  ${CMAKE_CURRENT_LIST_DIR}/text_support.cpp)
add_library(xsock::text ALIAS xsock_text)
set_target_properties(xsock_text PROPERTIES EXPORT_NAME text OUTPUT_NAME xsock_text)
target_include_directories(xsock_text
  PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
         $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_compile_features(xsock_text PUBLIC cxx_std_17)
# PRIVATE: no ICU header is public. A static xsock_text still carries
# $<LINK_ONLY:ICU::uc> into its export, and the package config finds ICU.
target_link_libraries(xsock_text PRIVATE ICU::uc)
target_link_libraries(xsock_text PUBLIC xsock_net)
xsock_set_warnings(xsock_text)
