#pragma once

namespace sockecho {

// std::visit with one lambda per alternative.
template <typename... T>
struct Overloaded : T... {
  using T::operator()...;
};
template <typename... T>
Overloaded(T...) -> Overloaded<T...>;

}  // namespace sockecho
