// The object file that builds cmake/seedgrid_pch.h precompiled (CMakeLists.txt, SEEDGRID_PCH).
