#include "async_job.h"

namespace dien {

namespace {
void markClosing(void* arg) {
  auto* state = static_cast<std::shared_ptr<EnvState>*>(arg);
  (*state)->closing.store(true);
  delete state;
}
}  // namespace

AddonData& initAddonData(Napi::Env env) {
  auto* data = new AddonData();
  env.SetInstanceData(data);
  // Cleanup hooks run before the instance data is freed; the hook holds its own share.
  if (napi_add_env_cleanup_hook(env, markClosing, new std::shared_ptr<EnvState>(data->env)) != napi_ok)
    throw Napi::Error::New(env, "dien: could not register the environment cleanup hook");
  return *data;
}

AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

Napi::Promise AsyncJob::queue(Napi::Env env, std::unique_ptr<AsyncJob> job, const char* name) {
  job->envState_ = addonData(env).env;
  napi_value promise = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &job->deferred_, &promise), Napi::Promise());
  napi_value resource = Napi::String::New(env, name);
  NAPI_THROW_IF_FAILED(env, napi_create_async_work(env, nullptr, resource, execute, complete, job.get(), &job->work_),
                       Napi::Promise());
  NAPI_THROW_IF_FAILED(env, napi_queue_async_work(env, job->work_), Napi::Promise());
  job.release();  // complete() owns it now
  return Napi::Promise(env, promise);
}

void AsyncJob::execute(napi_env, void* data) {
  auto* job = static_cast<AsyncJob*>(data);
  try {
    job->run();
  } catch (...) {
    job->failed_ = true;
    job->error_ = classifyCurrentException();
  }
}

void AsyncJob::complete(napi_env env, napi_status status, void* data) {
  std::unique_ptr<AsyncJob> job(static_cast<AsyncJob*>(data));
  napi_delete_async_work(env, job->work_);
  // While the environment closes nothing may run JS: the promise dies with it.
  if (job->envState_->closing.load()) return;
  napi_handle_scope scope = nullptr;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  job->settle(env, status);
  napi_close_handle_scope(env, scope);
}

void AsyncJob::settle(napi_env env, napi_status status) {
  try {
    Napi::Env e(env);
    if (status != napi_ok) {
      error_ = {CaughtError::Kind::Coded, ErrorCode::Internal, "the native call was cancelled"};
      failed_ = true;
    }
    if (!failed_) {
      try {
        napi_resolve_deferred(env, deferred_, result(e));
        return;
      } catch (...) {
        error_ = classifyCurrentException();  // includes a failure to build the result
      }
    }
    napi_reject_deferred(env, deferred_, makeJsError(e, error_).Value());
  } catch (...) {
    // The environment refuses new values (it is going away): nothing left to settle.
  }
}

}  // namespace dien
