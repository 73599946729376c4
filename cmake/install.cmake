# Install rules: the libraries, headers, the CMake package (components net, text, tls)
# and pkg-config files. GNUInstallDirs is included by the top-level CMakeLists.txt.
include(CMakePackageConfigHelpers)

set(XSOCK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/xsock)

# One export set per component, so a net-only consumer never loads the text or tls
# targets (whose static libraries name ICU::uc and OpenSSL::SSL, which it need not have).
install(TARGETS xsock_net EXPORT xsock-net-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT xsock-net-targets NAMESPACE xsock:: FILE xsock-net-targets.cmake
        DESTINATION ${XSOCK_CMAKE_DIR})
set(XSOCK_COMPONENTS net)
if(TARGET xsock_text)
  install(TARGETS xsock_text EXPORT xsock-text-targets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(EXPORT xsock-text-targets NAMESPACE xsock:: FILE xsock-text-targets.cmake
          DESTINATION ${XSOCK_CMAKE_DIR})
  list(APPEND XSOCK_COMPONENTS text)
endif()
if(TARGET xsock_tls)
  install(TARGETS xsock_tls EXPORT xsock-tls-targets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(EXPORT xsock-tls-targets NAMESPACE xsock:: FILE xsock-tls-targets.cmake
          DESTINATION ${XSOCK_CMAKE_DIR})
  list(APPEND XSOCK_COMPONENTS tls)
endif()
# The package's config finds OpenSSL as this build did: a static OpenSSL (MinGW, vcpkg's
# static triplets) needs OPENSSL_USE_STATIC_LIBS in the consumer too.
set(XSOCK_OPENSSL_STATIC "${OPENSSL_USE_STATIC_LIBS}")

# All headers: the text and tls ones only declare (no ICU or OpenSSL header is
# included), so they do no harm without their library.
install(DIRECTORY core/include/xsock DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

configure_package_config_file(cmake/xsock-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/xsock-config.cmake
  INSTALL_DESTINATION ${XSOCK_CMAKE_DIR})
# 0.x: a minor version may break the API, so 0.1 accepts 0.1.y only.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/xsock-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/xsock-config.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/xsock-config-version.cmake
        DESTINATION ${XSOCK_CMAKE_DIR})

# pkg-config: xsock.pc is the net library, xsock-text.pc the text library (and ICU),
# xsock-tls.pc the TLS library (and OpenSSL); both require xsock, as they link xsock::net
# (their headers declare net's error_text() and socket_category(), endpoint...).
# Paths are relative to the .pc file, so an unpacked .deb or a moved prefix works.
file(RELATIVE_PATH XSOCK_PC_PREFIX_FROM_PCDIR /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
string(REGEX REPLACE "/$" "" XSOCK_PC_PREFIX_FROM_PCDIR "${XSOCK_PC_PREFIX_FROM_PCDIR}")
# System libraries xsock::net links (ws2_32 ... on Windows), as -l flags.
set(xsock_pc_system_libs "")
get_target_property(xsock_net_links xsock_net INTERFACE_LINK_LIBRARIES)
foreach(library IN LISTS xsock_net_links)
  if(library MATCHES "^[A-Za-z0-9_]+$")
    string(APPEND xsock_pc_system_libs " -l${library}")
  endif()
endforeach()
get_target_property(xsock_net_type xsock_net TYPE)
if(xsock_net_type STREQUAL "STATIC_LIBRARY")
  # A static library's dependencies are the consumer's to link.
  set(XSOCK_PC_NET_LIBS "Libs: -L\${libdir} -lxsock_net${xsock_pc_system_libs}")
  set(XSOCK_PC_TEXT_REQUIRES "Requires: xsock icu-uc")
  set(XSOCK_PC_TLS_REQUIRES "Requires: xsock openssl >= 3.0")
else()
  set(XSOCK_PC_NET_LIBS "Libs: -L\${libdir} -lxsock_net\nLibs.private:${xsock_pc_system_libs}")
  set(XSOCK_PC_TEXT_REQUIRES "Requires: xsock\nRequires.private: icu-uc")
  set(XSOCK_PC_TLS_REQUIRES "Requires: xsock\nRequires.private: openssl >= 3.0")
endif()
string(STRIP "${XSOCK_PC_NET_LIBS}" XSOCK_PC_NET_LIBS)
configure_file(cmake/xsock.pc.in ${CMAKE_CURRENT_BINARY_DIR}/xsock.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/xsock.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(TARGET xsock_text)
  configure_file(cmake/xsock-text.pc.in ${CMAKE_CURRENT_BINARY_DIR}/xsock-text.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/xsock-text.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
if(TARGET xsock_tls)
  # crypt32 on Windows (the ROOT store): a static xsock_tls leaves it to the consumer.
  set(XSOCK_PC_TLS_LIBS "-L\${libdir} -lxsock_tls")
  get_target_property(xsock_tls_links xsock_tls LINK_LIBRARIES)
  get_target_property(xsock_tls_type xsock_tls TYPE)
  foreach(library IN LISTS xsock_tls_links)
    if(library MATCHES "^[A-Za-z0-9_]+$" AND NOT TARGET ${library})
      if(xsock_tls_type STREQUAL "STATIC_LIBRARY")
        string(APPEND XSOCK_PC_TLS_LIBS " -l${library}")
      else()
        string(APPEND XSOCK_PC_TLS_LIBS_PRIVATE " -l${library}")
      endif()
    endif()
  endforeach()
  set(XSOCK_PC_TLS_LIBS "Libs: ${XSOCK_PC_TLS_LIBS}")
  if(XSOCK_PC_TLS_LIBS_PRIVATE)
    string(APPEND XSOCK_PC_TLS_LIBS "\nLibs.private:${XSOCK_PC_TLS_LIBS_PRIVATE}")
  endif()
  configure_file(cmake/xsock-tls.pc.in ${CMAKE_CURRENT_BINARY_DIR}/xsock-tls.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/xsock-tls.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
