// MPI as a module (schoolsim-mpi.so), loaded by a sweep or calibration only
// when mpirun or srun started schoolsim (Ranks in common.cpp), so that no other
// run maps OpenMPI and the libraries it brings. The C API only: the deprecated
// C++ bindings need a library we do not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#define SCHOOLSIM_EXPORT extern "C" __attribute__((visibility("default")))

SCHOOLSIM_EXPORT void schoolsim_mpi_init(int* rank, int* size) {
  MPI_Init(nullptr, nullptr);
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, size);
}

SCHOOLSIM_EXPORT void schoolsim_mpi_finalize() { MPI_Finalize(); }

SCHOOLSIM_EXPORT void schoolsim_mpi_sum(const double* in, double* out, int n) {
  MPI_Allreduce(in, out, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

SCHOOLSIM_EXPORT int schoolsim_mpi_max(int v) {
  int out = v;
  MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return out;
}
