// Boost.Asio's and Boost.Beast's compiled parts, once for the whole build (their separate
// compilation mode; every target linking seedgrid::env_asio sees the matching definitions). Every
// other file including Asio or Beast then parses declarations instead of the implementations.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
