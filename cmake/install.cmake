include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_xsock_targets xsock_net)
if(TARGET xsock_text)
  list(APPEND _xsock_targets xsock_text)
endif()

install(TARGETS ${_xsock_targets} EXPORT xsock-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY core/include/xsock DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT xsock-targets NAMESPACE xsock:: FILE xsock-targets.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/xsock)
configure_package_config_file(cmake/xsock-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/xsock-config.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/xsock)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/xsock-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/xsock-config.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/xsock-config-version.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/xsock)
