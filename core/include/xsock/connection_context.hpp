// xsock::connection_context: one typed object attached to a connection of an event_loop.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

namespace xsock {

namespace detail {
// One object per type: its address is the type's tag. Needs no RTTI (works with
// -fno-rtti); an inline variable has one address in the whole program.
template <class T>
inline constexpr char context_tag = 0;
}  // namespace detail

/// Holds at most one object of any type, and knows its type without RTTI: `get<T>()`
/// returns it only when it is a `T`. Owns the object (destroys it on `reset`, on
/// `emplace` of another, and with the holder). Move-only. `event_loop` keeps one per
/// connection that asks for it (`event_loop::emplace_context`).
class connection_context {
 public:
  /// Empty.
  connection_context() noexcept = default;
  connection_context(const connection_context&) = delete;
  connection_context& operator=(const connection_context&) = delete;
  /// Takes the other's object; the other is left empty.
  connection_context(connection_context&& other) noexcept
      : object_(std::exchange(other.object_, nullptr)),
        tag_(std::exchange(other.tag_, nullptr)),
        destroy_(std::exchange(other.destroy_, nullptr)) {}
  /// Destroys the object held, then takes the other's.
  connection_context& operator=(connection_context&& other) noexcept {
    if (this != &other) {
      reset();
      object_ = std::exchange(other.object_, nullptr);
      tag_ = std::exchange(other.tag_, nullptr);
      destroy_ = std::exchange(other.destroy_, nullptr);
    }
    return *this;
  }
  ~connection_context() { reset(); }

  /// Destroys the object held (if any), then builds a `T` from `args`. If that throws,
  /// the holder is left empty and the exception propagates.
  template <class T, class... Args>
  T& emplace(Args&&... args) {
    static_assert(std::is_object_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T>,
                  "connection_context holds plain object types");
    reset();
    T* made = new T(std::forward<Args>(args)...);
    object_ = made;
    tag_ = &detail::context_tag<T>;
    destroy_ = [](void* p) noexcept { delete static_cast<T*>(p); };
    return *made;
  }

  /// The object when it is a `T`; nullptr when empty or of another type.
  template <class T>
  T* get() const noexcept {
    return tag_ == &detail::context_tag<T> ? static_cast<T*>(object_) : nullptr;
  }

  /// True when an object is held.
  bool has_value() const noexcept { return object_ != nullptr; }

  /// Destroys the object held (if any).
  void reset() noexcept {
    if (object_ == nullptr) return;
    void* p = std::exchange(object_, nullptr);
    tag_ = nullptr;
    std::exchange(destroy_, nullptr)(p);
  }

 private:
  // Type-erased here only: the public interface is typed.
  void* object_ = nullptr;
  const char* tag_ = nullptr;
  void (*destroy_)(void*) noexcept = nullptr;
};

}  // namespace xsock
