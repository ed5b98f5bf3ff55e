# Writes the static web build's folder SITE: the page of teaching mode
# (sim/serve/web/), with its backend set to the WebAssembly session in the page.
# Run as: cmake -DSOURCE_DIR=<repo> -DSITE=<folder> -P site.cmake
set(web "${SOURCE_DIR}/sim/serve/web")
file(MAKE_DIRECTORY "${SITE}")
file(READ "${web}/index.html" html)
string(REPLACE "<meta name=\"schoolsim-backend\" content=\"server\">" "<meta name=\"schoolsim-backend\" content=\"wasm\">"
       site_html "${html}")
if(site_html STREQUAL html)
  message(FATAL_ERROR "${web}/index.html has no <meta name=\"schoolsim-backend\" content=\"server\">")
endif()
file(WRITE "${SITE}/index.html.tmp" "${site_html}")
file(COPY_FILE "${SITE}/index.html.tmp" "${SITE}/index.html" ONLY_IF_DIFFERENT)
file(REMOVE "${SITE}/index.html.tmp")
foreach(f app.js style.css)
  file(COPY_FILE "${web}/${f}" "${SITE}/${f}" ONLY_IF_DIFFERENT)
endforeach()
