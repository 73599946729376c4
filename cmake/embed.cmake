# xsock_embed_file(INPUT OUTPUT SYMBOL): writes OUTPUT, a C++ source that defines
# `const unsigned char SYMBOL_data[]` and `const std::size_t SYMBOL_size` with the
# bytes of INPUT, so a program carries its data and runs from any directory (cross
# builds run under an emulator). Reconfigures when INPUT changes.
function(xsock_embed_file input output symbol)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${input})
  file(READ ${input} _hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
  file(RELATIVE_PATH _from ${PROJECT_SOURCE_DIR} ${input})
  file(WRITE ${output}
    "// Generated from ${_from} by xsock_embed_file (cmake/embed.cmake).\n"
    "#include <cstddef>\n"
    "extern const unsigned char ${symbol}_data[] = {${_bytes}};\n"
    "extern const std::size_t ${symbol}_size = sizeof ${symbol}_data;\n")
endfunction()
